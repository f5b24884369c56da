//! Sprig's date functions (`date.go`). Not implemented yet: they need Go's
//! time layouts and a time value type.

use super::FuncMap;

pub fn register(_m: &mut FuncMap) {}
