"""loss-verify: executable specs for loss functions.

The package holds float64 reference oracles (``verify.oracles``), the loss contracts
(``verify.contracts``), hypothesis strategies (``verify.strategies``), tolerances and comparison
(``verify.tolerances``), devices and dtypes (``verify.devices``), the claim catalogue
(``verify.claims``), the pytest plugin (``verify.plugin``) and the ``verify`` command.
"""

__version__ = "0.1.0"
