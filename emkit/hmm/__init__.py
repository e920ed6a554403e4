"""Hidden Markov models: Baum-Welch (EM) for sequences, emissions from any exponential family.

* [`lattice`][emkit.hmm.lattice]: the forward-backward and Viterbi passes on log-emissions,
  vectorised over many sequences and over segments of long ones.
* [`model`][emkit.hmm.model]: [`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel], a
  [`LatentVariableModel`][emkit.protocols.LatentVariableModel] whose rows come in sequences
  ([`RowBlocks`][emkit.protocols.RowBlocks]), fitted by [`emkit.fit`][emkit.em.fit] like any
  other model.
"""

from emkit.hmm.lattice import Posteriors, forward_backward, log_likelihood, viterbi
from emkit.hmm.model import DECODERS, HiddenMarkovModel, HMMParams, HMMStats

__all__ = [
    "DECODERS",
    "HMMParams",
    "HMMStats",
    "HiddenMarkovModel",
    "Posteriors",
    "forward_backward",
    "log_likelihood",
    "viterbi",
]
