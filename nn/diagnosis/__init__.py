"""Why a network does not learn, before training: the learning-rate finder and the sanity checks."""
