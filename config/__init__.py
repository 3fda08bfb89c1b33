"""Settings and the Temporal connection: the leaf every part of Lincah may import."""
