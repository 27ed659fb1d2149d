"""Visualisation of results on the brain.

Modules
-------
cortex   per-parcel values on the fsLR32k cortex (lateral and medial views, both hemispheres)
time     time courses with bootstrap bands and significant clusters
"""

from crossalign.viz.cortex import (
    network_order,
    parcel_vertex_values,
    plot_network_matrix,
    plot_parcel_maps,
    plot_parcels,
)
from crossalign.viz.time import plot_time_courses

__all__ = [
    "network_order",
    "parcel_vertex_values",
    "plot_network_matrix",
    "plot_parcel_maps",
    "plot_parcels",
    "plot_time_courses",
]
