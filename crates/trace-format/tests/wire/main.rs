//! Tests of the wire layer on real traces and on synthetic ones.

mod damage;
mod details;
mod fixtures;
mod goldens;
mod index;
mod old_format;
mod roundtrip;
mod snapshot;
mod threads;
