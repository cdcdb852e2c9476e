"""CodeCarbon: energy use and CO2 emissions of training (``report_to="codecarbon"``)."""

from __future__ import annotations

import os
from typing import Any

from ..callbacks.base import TrainerCallback
from .base import has_module, import_client


def is_codecarbon_available() -> bool:
    """Whether the codecarbon package is installed."""
    return has_module("codecarbon")


class CodeCarbonCallback(TrainerCallback):
    """Measures the emissions of training with codecarbon; ``emissions.csv`` goes to ``output_dir``.

    The tracker is made when the Trainer is built and runs from ``on_train_begin`` to
    ``on_train_end`` on the first process of each machine. codecarbon finds the machine's location
    online; with ``CODECARBON_COUNTRY_ISO_CODE`` set (e.g. ``"FRA"``) it runs offline
    (``OfflineEmissionsTracker``) and uses that country's energy mix instead. Every other
    ``CODECARBON_*`` variable codecarbon reads applies as well.
    """

    def __init__(self) -> None:
        self._codecarbon = import_client("codecarbon", "CodeCarbonCallback", "codecarbon")
        import torch

        if getattr(torch.version, "hip", None):
            raise RuntimeError(
                "CodeCarbonCallback: codecarbon does not support AMD ROCm; drop 'codecarbon' "
                "from report_to."
            )
        self.tracker: Any = None

    def _make_tracker(self, output_dir: str) -> Any:
        country = os.getenv("CODECARBON_COUNTRY_ISO_CODE")
        if country:
            return self._codecarbon.OfflineEmissionsTracker(
                output_dir=output_dir, country_iso_code=country
            )
        return self._codecarbon.EmissionsTracker(output_dir=output_dir)

    def on_init_end(self, args, state, control, **kwargs):
        if self.tracker is None and state.is_local_process_zero:
            os.makedirs(args.output_dir, exist_ok=True)
            self.tracker = self._make_tracker(args.output_dir)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.tracker is not None and state.is_local_process_zero:
            self.tracker.start()

    def on_train_end(self, args, state, control, **kwargs):
        if self.tracker is not None and state.is_local_process_zero:
            self.tracker.stop()
