"""Mirror flow in homogeneous networks (docs/mirror_flow.md): mirror maps, flows, margins, networks, features, evidence."""
