"""The network, its activations and costs, and the loops of the forward and backward passes,
batches and training: everything that computes, in any arithmetic. Imports only the number
systems below it (:mod:`backprop_ref.arithmetic`).
"""
