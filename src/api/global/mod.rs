//! The library-wide object (`Handle == NULL`): its parameters, its worker threads and
//! execution profiles, the shared worker pool, application-driven execution, and the performance
//! counters.

pub(crate) mod counted;
pub(crate) mod execution;
pub(crate) mod lib_params;
pub(crate) mod params;
pub(crate) mod pool;
pub(crate) mod stats_sizes;
pub(crate) mod workers;
