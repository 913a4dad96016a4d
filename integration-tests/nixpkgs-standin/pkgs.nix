# The package set of the stand-in. Every derivation is a plain
# builtins.derivation run by the host's bash; programs are small scripts or
# symlinks to host programs, so a build takes milliseconds.
{ host }:
let
  inherit (host) system;

  lib = import ./lib.nix;

  # Nix 2.8 kills a builder as soon as its log pipe reaches EOF. On some
  # kernels (seen on the test VMs) the builder has then closed its files but
  # not finished exiting, and a build that succeeded is reported as "failed
  # due to signal 9 (Killed)" -- for about a third of fresh builds. This EXIT
  # trap leaves a child holding the log pipe until the builder is a zombie,
  # so EOF comes only once the exit status is final. Bash builtins and /proc
  # only: no PATH is needed. (Real nixpkgs builds take long enough not to
  # race; the stand-in's take a millisecond.)
  holdLogUntilExit = ''
    trap '( while read -r _ _ s _ 2>/dev/null < /proc/$$/stat && [ "$s" != Z ]; do :; done ) &' EXIT
  '';

  # A derivation built by a bash script. `env` attributes become variables of
  # the build, which keeps the scripts free of Nix string interpolation.
  runScript = name: env: script:
    builtins.derivation ({
      inherit name system;
      builder = host.bash;
      args = [ "-c" (holdLogUntilExit + script) ];
      PATH = host.coreutils;
    } // env);

  # A command-line tool that prints its name and version, like `ffmpeg -version`.
  tool = pname: version:
    runScript "${pname}-${version}" { inherit pname version; bash = host.bash; } ''
      set -eu
      mkdir -p "$out/bin"
      printf '#!%s\necho "%s version %s (nixpy stand-in)"\n' "$bash" "$pname" "$version" > "$out/bin/$pname"
      chmod +x "$out/bin/$pname"
    '' // { inherit pname version; };

  # A library folder holding one host library, like stdenv.cc.cc.lib or zlib.
  hostLibrary = name: file:
    runScript name { inherit file; } ''
      set -eu
      mkdir -p "$out/lib"
      ln -s "$file" "$out/lib/$(basename "$file")"
    '';

  sitePackages = "lib/python${host.pythonVersion}/site-packages";

  # A pure-Python distribution: one module file plus dist-info metadata, so
  # importlib.metadata (and so nixpy) sees it as installed.
  pythonModule = pname: version: moduleText:
    runScript "python${host.pythonVersion}-${pname}-${version}" {
      inherit pname version moduleText sitePackages;
    } ''
      set -eu
      sp="$out/$sitePackages"
      mkdir -p "$sp/$pname-$version.dist-info"
      printf '%s' "$moduleText" > "$sp/$pname.py"
      printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "$pname" "$version" > "$sp/$pname-$version.dist-info/METADATA"
      printf 'nix\n' > "$sp/$pname-$version.dist-info/INSTALLER"
    '' // { inherit pname version; };

  pythonPackages = {
    six = pythonModule "six" "1.16.0" "__version__ = '1.16.0'\nPY3 = True\n";
    numpy = pythonModule "numpy" "1.26.4" "__version__ = '1.26.4'\n";
    attrs = pythonModule "attrs" "23.2.0" "__version__ = '23.2.0'\n";
    # pip links the host's pip into the set, as python.pkgs.pip does.
    pip = runScript "python${host.pythonVersion}-pip" { inherit sitePackages; pip = host.pip; } ''
      set -eu
      mkdir -p "$out/$sitePackages"
      ln -s "$pip" "$out/$sitePackages/pip"
      # pip's dist-info sits beside the package. (Each folder once: linking
      # a folder twice would follow the first link into the host's folder.)
      for d in "$(dirname "$pip")"/pip-*.dist-info; do
        if [ -e "$d" ]; then ln -s "$d" "$out/$sitePackages/$(basename "$d")"; fi
      done
    '' // { pname = "pip"; };
  };

  # python.withPackages: a venv-shaped folder (pyvenv.cfg beside bin/) whose
  # site-packages links the chosen packages, so the interpreter sees exactly them.
  pythonEnv = packages:
    runScript "python${host.pythonVersion}-env" {
      inherit sitePackages;
      python = host.python;
      pythonVersion = host.pythonVersion;
      packages = packages;
    } ''
      set -eu
      mkdir -p "$out/bin" "$out/$sitePackages"
      for n in python python3 "python$pythonVersion"; do ln -s "$python" "$out/bin/$n"; done
      printf 'home = %s\ninclude-system-site-packages = false\nversion = %s\n' \
        "$(dirname "$python")" "$pythonVersion" > "$out/pyvenv.cfg"
      for p in $packages; do
        for f in "$p/$sitePackages"/*; do ln -s "$f" "$out/$sitePackages/$(basename "$f")"; done
      done
    '';

  python = let self = pythonEnv [ ] // {
    pythonVersion = host.pythonVersion;
    inherit sitePackages;
    pkgs = pythonPackages;
    withPackages = f: pythonEnv (f pythonPackages) // { inherit (self) pythonVersion sitePackages; };
    interpreter = "${pythonEnv [ ]}/bin/python3";
  }; in self;

  # stdenv's setup puts every input's bin/ on PATH, as the real one does.
  # `nix print-dev-env` builds its environment dump by sourcing it, so it
  # also sets the EXIT trap of holdLogUntilExit for that build.
  stdenvSetup = runScript "stdenv-standin" { inherit holdLogUntilExit; } ''
    set -eu
    mkdir -p "$out"
    printf '%s\n' "$holdLogUntilExit" > "$out/setup"
    cat >> "$out/setup" <<'SETUP'
    for p in $nativeBuildInputs $buildInputs; do
      if [ -d "$p/bin" ]; then PATH="$p/bin''${PATH:+:$PATH}"; fi
    done
    export PATH
    SETUP
  '';

  mkShell = { name ? "nix-shell", packages ? [ ], buildInputs ? [ ], nativeBuildInputs ? [ ], shellHook ? "", ... }@args:
    let extra = removeAttrs args [ "name" "packages" "buildInputs" "nativeBuildInputs" "shellHook" "env" ];
    in builtins.derivation ({
      inherit name system shellHook buildInputs;
      nativeBuildInputs = packages ++ nativeBuildInputs;
      builder = host.bash;
      args = [ "-c" "echo 'a mkShell is for nix develop, not nix build' >&2; exit 1" ];
      outputs = [ "out" ];
      stdenv = stdenvSetup;
    } // extra // (args.env or { }));

  # A package whose build fails, for the tests of build-failure reporting.
  broken = runScript "broken-1.0" { } ''
    echo "compiling broken-1.0 ..." >&2
    echo "broken.c:3: error: this package fails on purpose" >&2
    exit 1
  '';
in
{
  inherit lib mkShell broken;
  python3 = python;
  python311 = python;
  python3Packages = pythonPackages;
  python311Packages = pythonPackages;
  ffmpeg = tool "ffmpeg" "6.1.1";
  tesseract = tool "tesseract" "5.3.4";
  sox = tool "sox" "14.4.2";
  hello = tool "hello" "2.12.1";
  jq = tool "jq" "1.7.1";
  nodePackages = { pnpm = tool "pnpm" "8.15.1"; };
  uv = runScript "uv-standin" { uv = host.uv; } ''
    set -eu
    mkdir -p "$out/bin"
    ln -s "$uv" "$out/bin/uv"
  '';
  bashInteractive = runScript "bash-interactive-standin" { bash = host.bash; } ''
    set -eu
    mkdir -p "$out/bin"
    ln -s "$bash" "$out/bin/bash"
    ln -s "$bash" "$out/bin/sh"
  '';
  zlib = hostLibrary "zlib-standin" host.libz;
  stdenv = { cc = { cc = { lib = hostLibrary "gcc-lib-standin" host.libstdcxx; }; }; };
}
