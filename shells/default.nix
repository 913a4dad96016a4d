# nixpy's shell template: a function from the project's plan (JSON data that
# nixpy wrote, never code) to a mkShell. The generated flake imports it.
#
# It touches only the nixpkgs API listed in shells/README.md, so it works
# against real nixpkgs and against the test suite's offline stand-in alike.
{ pkgs, plan }:
let
  lib = pkgs.lib;

  # Resolve an attribute path from the plan, or fail with a marker line that
  # nixpy turns into "X is not in nixpkgs (listed in FILE)".
  attribute = set: setName: source: path:
    if lib.hasAttrByPath path set then lib.getAttrFromPath path set
    else throw "nixpy-unknown-attribute: ${lib.concatStringsSep "." path} in ${setName} (listed in ${source})";

  python = attribute pkgs "nixpkgs" plan.manifest plan.python;

  # A project's own Nix file, in one of three styles: a list (with `pkgs` in
  # scope), a function returning a list, or a module setting home.packages.
  nixFilePackages = file:
    let
      value = builtins.scopedImport { inherit pkgs lib; } (/. + file);
      available = { inherit pkgs lib; config = { }; };
      called =
        if builtins.isFunction value then
          (if builtins.functionArgs value == { } then value pkgs
           else value (builtins.intersectAttrs (builtins.functionArgs value) available))
        else value;
      list =
        if builtins.isList called then called
        else if builtins.isAttrs called && lib.hasAttrByPath [ "home" "packages" ] called then called.home.packages
        else if builtins.isAttrs called && lib.hasAttrByPath [ "environment" "systemPackages" ] called then called.environment.systemPackages
        else if builtins.isAttrs called && called ? packages then called.packages
        else throw "nixpy-nix-file-shape: ${file} gives neither a list of packages nor a module with home.packages";
    in builtins.filter (p: p != null) list;

  pythonEnv = python.withPackages (ps:
    map (attribute ps "the ${lib.concatStringsSep "." plan.python}.pkgs package set" plan.manifest) plan.pythonPackages
    ++ lib.optional plan.pip ps.pip);

  libraries = map (attribute pkgs "nixpkgs" plan.manifest) plan.libraries;
in
pkgs.mkShell {
  name = "nixpy-shell";
  packages =
    [ pythonEnv ]
    ++ map (attribute pkgs "nixpkgs" plan.manifest) plan.packages
    ++ builtins.concatLists (map nixFilePackages plan.nixFiles)
    ++ lib.optional plan.uv pkgs.uv;

  # Facts nixpy needs after the build, read back from `print-dev-env`.
  NIXPY_PYTHON = "${pythonEnv}/bin/python3";
  NIXPY_PYTHON_VERSION = python.pythonVersion;
  NIXPY_SITE_PACKAGES = "${pythonEnv}/${python.sitePackages}";
  NIXPY_LIBRARY_PATH = lib.makeLibraryPath libraries;
  NIXPY_BASH = "${pkgs.bashInteractive}/bin/bash";
  NIXPY_UV = lib.optionalString plan.uv "${pkgs.uv}/bin/uv";
}
