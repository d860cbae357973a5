"""Mirror flow in homogeneous networks (SPEC Part B): mirror maps, flows, margins, networks, features, evidence."""
