# Offline stand-in for nixpkgs, for nixpy's integration tests.
#
# It exposes the attribute names and the slice of the nixpkgs API that nixpy's
# generated shell uses (see shells/README.md), built with builtins.derivation
# from host programs named in host.nix, and imitates the nixpkgs behaviours
# nixpy must handle (see README.md here). The test harness copies this folder
# and writes host.nix; nothing here is fetched.
{
  description = "nixpy test stand-in for nixpkgs";
  outputs = { self }:
    let host = import ./host.nix; in
    {
      lib = import ./lib.nix;
      # As in nixpkgs' flake.nix: the impure default arguments apply.
      legacyPackages.${host.system} = import ./default.nix { inherit (host) system; };
    };
}
