"""Shared numerical machinery: the arbitrary-precision Taylor integrator, exact numbers, user parametrizations."""
