# A Nix list the project already keeps, as a home-manager style module.
{ pkgs, ... }: { home.packages = with pkgs; [ sox ]; }
