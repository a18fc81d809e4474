"""Dataset loaders, one module per dataset; ``python -m latentsep.data.fetch`` fetches the offline ones.

Images are returned as uint8 (N, 28, 28) arrays plus provenance (:mod:`.mnist`, :mod:`.fashion`);
:mod:`.coloured` turns MNIST into float32 (N, 3, 28, 28) coloured digits with their attribute
table; :mod:`.tabular` returns Adult and COMPAS as design matrices with 0/1 attribute tables.
"""

from latentsep.data.coloured import make_coloured_mnist, prevalence_subsample
from latentsep.data.fashion import FashionMnistData, load_fashion_mnist
from latentsep.data.mnist import MnistData, describe_source, load_mnist, mnist_splits, paper_splits
from latentsep.data.tabular import TabularData, load_adult, load_compas

__all__ = [
    "FashionMnistData",
    "MnistData",
    "TabularData",
    "describe_source",
    "load_adult",
    "load_compas",
    "load_fashion_mnist",
    "load_mnist",
    "make_coloured_mnist",
    "mnist_splits",
    "paper_splits",
    "prevalence_subsample",
]
