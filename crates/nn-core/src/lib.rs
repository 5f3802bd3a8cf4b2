//! The core of the library: tensors on ndarray, the [`Module`] and [`Loss`]
//! traits of the report, named parameter access, seeded initialisation and
//! finite-difference gradient checking.
//!
//! Everything above this crate (layers, losses, models, training) is written
//! against these traits; see `ARCHITECTURE.md` for the crate map and layouts.

pub mod elementwise;
mod error;
mod float;
pub mod gradcheck;
pub mod init;
pub mod linalg;
mod loss;
mod module;
mod param;
pub mod pool;
pub mod stored_step;
pub mod tensor;

pub use error::{Dims, ShapeError};
pub use float::Float;
pub use init::Init;
pub use loss::{Loss, check_target};
pub use module::{DEFAULT_GRADIENT_STEP, Module};
pub use param::{ParamName, Parameter, ParameterMut, Segment};
pub use tensor::{Tensor, TensorView};
