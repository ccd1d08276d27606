//! Derivative-free and quasi-Newton minimisers shared by the models.
