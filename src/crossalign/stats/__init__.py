"""Statistical inference: noise ceilings and unit reliability, resampling, permutation nulls,
multiple comparisons and equivalence.

Modules
-------
ceilings      noise ceilings per region (leave one subject out) and ceiling normalisation
reliability   unit reliability from repeated presentations (NCSNR)
resampling    bootstrap indices, percentile intervals, the two-factor variance correction
permutation   the permutation engine (relabelling, sign flips) and p-values
multiple      multiple comparisons (FDR, max-statistic FWER)
equivalence   practical equivalence to the best model; the double criterion

References
----------
Nili et al. 2014, PLoS Comput. Biol. 10:e1003553 (noise ceilings for RSA).
Schütt, Kipnis, Diedrichsen & Kriegeskorte 2023, eLife 12:e82566 (two-factor bootstrap over
subjects and stimuli, and the correction of its variance).
Benjamini & Hochberg 1995, J. R. Stat. Soc. B 57:289 (false discovery rate).
Nichols & Holmes 2002, Hum. Brain Mapp. 15:1 (max-statistic family-wise error control).
"""

from crossalign.stats.ceilings import (
    CEILINGS,
    ceiling_normalise,
    noise_ceiling,
    unreliable_regions,
)
from crossalign.stats.equivalence import double_criterion, equivalence
from crossalign.stats.multiple import fdr_bh, fwer_maxstat
from crossalign.stats.permutation import (
    TIE_TOLERANCE,
    permutation_null,
    permutation_p_value,
    sign_flips,
)
from crossalign.stats.reliability import ncsnr, reliable_units
from crossalign.stats.resampling import (
    MIN_BOOTSTRAP,
    MIN_KEPT_FRACTION,
    bootstrap_indices,
    check_n_bootstrap,
    fixed_subject_bootstrap,
    interval_diagnostics,
    percentile_ci,
    resample_rdm_vectors,
    two_factor_variance,
)

__all__ = [
    "CEILINGS",
    "MIN_BOOTSTRAP",
    "MIN_KEPT_FRACTION",
    "TIE_TOLERANCE",
    "bootstrap_indices",
    "ceiling_normalise",
    "check_n_bootstrap",
    "double_criterion",
    "equivalence",
    "fdr_bh",
    "fixed_subject_bootstrap",
    "fwer_maxstat",
    "interval_diagnostics",
    "ncsnr",
    "noise_ceiling",
    "percentile_ci",
    "permutation_null",
    "permutation_p_value",
    "reliable_units",
    "resample_rdm_vectors",
    "sign_flips",
    "two_factor_variance",
    "unreliable_regions",
]
