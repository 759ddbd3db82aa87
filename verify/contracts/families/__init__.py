"""What several contracts share, by family: the reduction keyword and empty batches
(``reduction``), class scores with class targets (``categorical``), elementwise binary losses
(``binary``), elementwise regression losses (``regression``), and softmax/log_softmax
(``normalization``)."""
