"""Visualisation of results on the brain.

Modules
-------
cortex   per-parcel values on the fsLR32k cortex (lateral and medial views, both hemispheres)
"""

from crossalign.viz.cortex import (
    network_order,
    parcel_vertex_values,
    plot_network_matrix,
    plot_parcel_maps,
    plot_parcels,
)

__all__ = [
    "network_order",
    "parcel_vertex_values",
    "plot_network_matrix",
    "plot_parcel_maps",
    "plot_parcels",
]
