//! Tests of the wire layer on real traces and on synthetic ones.

mod damage;
mod fixtures;
mod goldens;
mod old_format;
mod roundtrip;
mod snapshot;
