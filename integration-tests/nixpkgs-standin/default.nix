# `import nixpkgs { ... }` for the stand-in, with the defaults of nixpkgs'
# pkgs/top-level/impure.nix: an argument left out is read from the user's
# environment. Without `config`, $NIXPKGS_CONFIG or ~/.config/nixpkgs/config.nix
# is imported; without `overlays`, ~/.config/nixpkgs/overlays(.nix). (Reading
# them needs --impure; in pure evaluation HOME is empty and nothing is read.)
let
  home = builtins.getEnv "HOME";
  configFromEnvironment =
    let
      configFile = builtins.getEnv "NIXPKGS_CONFIG";
      homeConfig = home + "/.config/nixpkgs/config.nix";
    in
    if configFile != "" && builtins.pathExists configFile then import configFile
    else if home != "" && builtins.pathExists homeConfig then import homeConfig
    else { };
  overlaysFromEnvironment =
    let
      file = home + "/.config/nixpkgs/overlays.nix";
      dir = home + "/.config/nixpkgs/overlays";
      nixFiles = builtins.filter (n: builtins.match ".*\\.nix" n != null)
        (builtins.attrNames (builtins.readDir dir));
    in
    if home == "" then [ ]
    else if builtins.pathExists file then import file
    else if builtins.pathExists dir then map (n: import (dir + "/${n}")) nixFiles
    else [ ];
in
{ system ? builtins.currentSystem
, config ? configFromEnvironment
, overlays ? overlaysFromEnvironment
, ...
}:
let host = import ./host.nix; in
assert system == host.system;
import ./pkgs.nix {
  inherit host overlays;
  # nixpkgs' config is a function of pkgs or a set.
  config = if builtins.isFunction config then config { } else config;
}
