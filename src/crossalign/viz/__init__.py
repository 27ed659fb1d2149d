"""Visualisation of results on the brain.

Modules
-------
cortex   per-parcel values on the fsLR32k cortex (lateral and medial views, both hemispheres)
time     time courses, time x time maps, matrices over time, latencies
"""

from crossalign.viz.cortex import (
    network_order,
    parcel_vertex_values,
    plot_network_matrix,
    plot_parcel_maps,
    plot_parcels,
)
from crossalign.viz.time import (
    plot_latencies,
    plot_matrices_over_time,
    plot_temporal_generalisation,
    plot_time_courses,
)

__all__ = [
    "network_order",
    "parcel_vertex_values",
    "plot_latencies",
    "plot_matrices_over_time",
    "plot_network_matrix",
    "plot_parcel_maps",
    "plot_parcels",
    "plot_temporal_generalisation",
    "plot_time_courses",
]
