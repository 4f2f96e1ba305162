"""Node-side job services: running one attempt, its file store, deferred functions, containers, real-time logging,
the worker bootstrap."""
