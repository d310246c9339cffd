"""Reference for b2_dimension_reduction: PCA on standardised data keeping 95% of the variance."""

from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler


def reduce(x):
    return PCA(n_components=0.95, random_state=0).fit_transform(StandardScaler().fit_transform(x))
