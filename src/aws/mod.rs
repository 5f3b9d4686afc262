//! Everything that talks to AWS or reads AWS's own files: profiles and credentials, and (from
//! later issues) inventory, IAM token signing and Secrets Manager. No UI types here.

pub mod error;
pub mod iam_simulation;
pub mod identity;
pub mod inventory;
pub mod profiles;
pub mod sdk;
pub mod secrets;
pub mod sso;
