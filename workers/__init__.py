"""RQ workers: small jobs that take ids, not objects."""
