//! Model files (being written).
