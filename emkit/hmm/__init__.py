"""Hidden Markov models: forward-backward E-step on sequences."""
