# Offline stand-in for nixpkgs, for nixpy's integration tests.
#
# It exposes the attribute names and the small slice of the nixpkgs API that
# nixpy's generated shell uses (see shells/README.md), built with
# builtins.derivation from host programs named in host.nix. The test harness
# copies this folder and writes host.nix; nothing here is fetched.
{
  description = "nixpy test stand-in for nixpkgs";
  outputs = { self }:
    let
      host = import ./host.nix;
      pkgs = import ./pkgs.nix { inherit host; };
    in {
      lib = pkgs.lib;
      legacyPackages.${host.system} = pkgs;
    };
}
