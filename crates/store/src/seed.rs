//! Demo-data generator (filled in next).
