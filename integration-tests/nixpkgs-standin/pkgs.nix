# The package set of the stand-in. Every derivation is a plain
# builtins.derivation run by the host's bash; programs are small scripts or
# symlinks to host programs, so a build takes milliseconds.
#
# What it imitates of nixpkgs, because nixpy must handle it (README.md here
# lists the nixpkgs files each part follows):
# - stdenv: inputs' bin/ on PATH in order, propagated inputs, setup hooks
#   and env hooks (stdenvSetup);
# - check-meta: unfree, broken, unsupported and insecure refusals, honouring
#   the config, its predicates, handleEvalIssue and NIXPKGS_ALLOW_* (mkDerivation);
# - Python: a base interpreter with the setup hook that exports PYTHONPATH,
#   PYTHONHASHSEED and DETERMINISTIC_BUILD; packages that propagate their
#   interpreter; withPackages, which keeps only modules of its interpreter;
#   applications (buildPythonApplication, toPythonApplication) whose scripts
#   add their own dependencies to sys.path, built for the default python3,
#   with module twins in each interpreter's package set;
# - removed names that throw (aliases.nix), a leaf and a whole set;
# - config.cudaSupport switching torch to a variant that needs the unfree
#   CUDA runtime, config.cudaCapabilities and config.rocmSupport;
# - overlays, applied over the set.
{ host, config, overlays }:
let
  inherit (host) system;
  inherit (builtins) attrNames concatStringsSep filter replaceStrings;

  lib = import ./lib.nix;
  checkMeta = import ./check-meta.nix { inherit config system; };

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

  # stdenv.mkDerivation as nixpy sees it: pname, version, meta and passthru
  # on the result; `propagate` written to nix-support/propagated-build-inputs
  # and `setupHook` to nix-support/setup-hook; and check-meta's verdict
  # asserted when drvPath or outPath is forced (lib.extendDerivation).
  mkDerivation = { pname, version, script, name ? "${pname}-${version}", env ? { }
                 , meta ? { }, passthru ? { }, propagate ? [ ], setupHook ? "" }@args:
    let
      pos = builtins.unsafeGetAttrPos "pname" args;
      position = if pos == null then "«unknown-file»" else "${pos.file}:${toString pos.line}";
      attrs = { inherit pname version name meta; };
      drv = runScript name (env // { inherit pname version; propagated = propagate; setupHookText = setupHook; }) ''
        ${script}
        if [ -n "$propagated" ] || [ -n "$setupHookText" ]; then mkdir -p "$out/nix-support"; fi
        if [ -n "$propagated" ]; then printf '%s\n' "$propagated" > "$out/nix-support/propagated-build-inputs"; fi
        if [ -n "$setupHookText" ]; then printf '%s\n' "$setupHookText" > "$out/nix-support/setup-hook"; fi
      '';
      valid = checkMeta.validity attrs position;
      self = drv // passthru // {
        inherit pname version;
        meta = meta // { available = checkMeta.available attrs; position = position; };
        drvPath = assert valid; drv.drvPath;
        outPath = assert valid; drv.outPath;
        out = self;
      };
    in
    self;

  # A command-line tool that prints its name and version, like `ffmpeg -version`.
  tool' = program: pname: version: extra:
    mkDerivation ({
      inherit pname version;
      env = { inherit program; bash = host.bash; };
      script = ''
        set -eu
        mkdir -p "$out/bin"
        printf '#!%s\necho "%s version %s (nixpy stand-in)"\n' "$bash" "$pname" "$version" > "$out/bin/$program"
        chmod +x "$out/bin/$program"
      '';
    } // extra);
  tool = pname: version: tool' pname pname version { meta.description = descriptions.${pname} or ""; };

  # meta.description, as nixpkgs packages carry it (what `nixpy search`
  # matches besides the name), in the stand-in's own words.
  descriptions = {
    ffmpeg = "Tools to record, convert and stream audio and video";
    tesseract = "Optical character recognition (OCR) engine";
    sox = "Command-line audio processing: convert formats, mix, add effects";
    hello = "Prints a friendly greeting";
    jq = "Command-line JSON processor";
    pnpm = "Fast, disk-space efficient package manager for JavaScript";
    gifski = "High-quality GIF encoder";
    exiftool = "Reads and writes metadata of images, audio and video files";
    ffmpegthumbnailer = "Makes thumbnails of video files";
    mediainfo = "Shows technical information about audio and video files";
    clang = "C language family frontend for LLVM";
    six = "Python 2 and 3 compatibility library";
    numpy = "Fundamental package for array computing in Python";
    attrs = "Python classes without boilerplate";
    setuptools = "Builds and distributes Python packages";
    mutagen = "Reads and writes audio metadata tags";
    yt-dlp = "Downloads audio and video from YouTube and other sites";
    openai-whisper = "Speech recognition: transcribes audio to text";
    torch = "Tensors and neural networks in Python";
  };

  # A library folder holding one host library, like stdenv.cc.cc.lib or zlib.
  hostLibrary = name: file:
    runScript name { inherit file; } ''
      set -eu
      mkdir -p "$out/lib"
      ln -s "$file" "$out/lib/$(basename "$file")"
    '';

  # pkgs/development/interpreters/python/setup-hook.sh, in behaviour: every
  # input's site-packages on PYTHONPATH unless dontAddPythonPath is set, and
  # the two determinism variables always.
  pythonSetupHook = sitePackages: ''
    addPythonPath() {
      addToSearchPathWithCustomDelimiter : PYTHONPATH "$1/${sitePackages}"
    }
    if [ -z "''${dontAddPythonPath:-}" ]; then
      addEnvHooks "$hostOffset" addPythonPath
    fi
    export DETERMINISTIC_BUILD=1
    export PYTHONHASHSEED=0
  '';

  # A base interpreter (python3, python312): the unwrapped executable, its
  # package set and withPackages. `interpreter` is the base executable, as in
  # nixpkgs; an environment's own is `env.interpreter`.
  mkPython = { binary, pythonVersion }:
    let
      sitePackages = "lib/python${pythonVersion}/site-packages";
      executable = "python${pythonVersion}";
      python = mkDerivation {
        pname = "python3";
        version = pythonVersion;
        env = { inherit binary executable sitePackages; };
        script = ''
          set -eu
          mkdir -p "$out/bin" "$out/$sitePackages"
          ln -s "$binary" "$out/bin/$executable"
          ln -s "$executable" "$out/bin/python3"
          ln -s "$executable" "$out/bin/python"
        '';
        setupHook = pythonSetupHook sitePackages;
        meta.platforms = [ system ];
        passthru = {
          inherit pythonVersion sitePackages executable;
          interpreter = "${python}/bin/${executable}";
          pkgs = pythonPackages;
          withPackages = f: withPackages (f pythonPackages);
        };
      };

      # requiredPythonModules: the modules of *this* interpreter among the
      # given derivations, and theirs. Applications and modules built for
      # another interpreter are dropped without a word, as in nixpkgs.
      hasPythonModule = drv: drv ? pythonModule && drv.pythonModule == python;
      requiredPythonModules = drvs:
        let modules = filter hasPythonModule drvs;
        in lib.unique (modules ++ builtins.concatMap (m: m.requiredPythonModules) modules);

      # python.withPackages: a venv-shaped folder (pyvenv.cfg beside bin/)
      # whose site-packages links the chosen packages, so the interpreter
      # sees exactly them.
      withPackages = drvs:
        let
          env = runScript "python${pythonVersion}-env" {
            inherit sitePackages binary pythonVersion;
            packages = requiredPythonModules drvs;
          } ''
            set -eu
            shopt -s nullglob
            mkdir -p "$out/bin" "$out/$sitePackages"
            for n in python python3 "python$pythonVersion"; do ln -s "$binary" "$out/bin/$n"; done
            printf 'home = %s\ninclude-system-site-packages = false\nversion = %s\n' \
              "$(dirname "$binary")" "$pythonVersion" > "$out/pyvenv.cfg"
            for p in $packages; do
              for f in "$p/$sitePackages"/*; do
                # Packages with top-level modules each have a __pycache__:
                # merged into one folder of links, as buildEnv does, so
                # Python finds each pyc.
                if [ "$(basename "$f")" = __pycache__ ]; then
                  mkdir -p "$out/$sitePackages/__pycache__"
                  for c in "$f"/*; do ln -s "$c" "$out/$sitePackages/__pycache__/$(basename "$c")"; done
                else
                  ln -s "$f" "$out/$sitePackages/$(basename "$f")"
                fi
              done
            done
          '';
        in
        env // {
          inherit pythonVersion sitePackages executable python;
          interpreter = "${env}/bin/${executable}";
        };

      # buildPythonPackage / buildPythonApplication: `files` are the module
      # files (name -> text); `scripts` are console scripts (name ->
      # "module:function"), wrapped as wrapPythonPrograms does: the script adds
      # its own site-packages and its dependencies' with site.addsitedir.
      buildPython = { pname, version, files, dependencies ? [ ], scripts ? { }
                    , meta ? { }, application ? false }:
        let
          fileNames = attrNames files;
          scriptNames = attrNames scripts;
          required = requiredPythonModules dependencies;
          indexed = list: builtins.genList (i: { inherit i; value = builtins.elemAt list i; }) (builtins.length list);
          fileEnv = builtins.listToAttrs (builtins.concatMap (f: [
            { name = "fileName${toString f.i}"; value = f.value; }
            { name = "fileText${toString f.i}"; value = files.${f.value}; }
          ]) (indexed fileNames));
          scriptEnv = builtins.listToAttrs (builtins.concatMap (s: [
            { name = "scriptName${toString s.i}"; value = s.value; }
            { name = "scriptEntry${toString s.i}"; value = scripts.${s.value}; }
          ]) (indexed scriptNames));
        in
        mkDerivation {
          inherit pname version;
          name = if application then "${pname}-${version}" else "python${pythonVersion}-${pname}-${version}";
          env = fileEnv // scriptEnv // {
            inherit sitePackages;
            distName = replaceStrings [ "-" ] [ "_" ] pname;
            interpreter = "${python}/bin/${executable}";
            bash = host.bash;
            depSitePackages = map (d: "${d}/${sitePackages}") required;
            fileCount = toString (builtins.length fileNames);
            scriptCount = toString (builtins.length scriptNames);
          };
          script = ''
            set -eu
            sp="$out/$sitePackages"
            mkdir -p "$sp/$distName-$version.dist-info"
            printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "$pname" "$version" > "$sp/$distName-$version.dist-info/METADATA"
            printf 'nix\n' > "$sp/$distName-$version.dist-info/INSTALLER"
            i=0
            while [ "$i" -lt "$fileCount" ]; do
              name="fileName$i"; text="fileText$i"
              mkdir -p "$sp/$(dirname "''${!name}")"
              printf '%s' "''${!text}" > "$sp/''${!name}"
              i=$((i + 1))
            done
            # Bytecode, as nixpkgs' packages ship it (unchecked-hash: the
            # store's mtimes do not invalidate it); without it Python run as
            # root writes __pycache__ into the store path. Skipped when the
            # builder cannot run the host's interpreter (pyenv's, under /root).
            "$interpreter" -I -m compileall -q --invalidation-mode unchecked-hash "$sp" > /dev/null 2>&1 || true
            dirs="'$sp'"
            for d in $depSitePackages; do dirs="$dirs, '$d'"; done
            i=0
            while [ "$i" -lt "$scriptCount" ]; do
              name="scriptName$i"; entry="scriptEntry$i"
              script="''${!name}"; entryPoint="''${!entry}"
              module="''${entryPoint%%:*}"; function="''${entryPoint#*:}"
              mkdir -p "$out/bin"
              printf '#!%s\nimport site, sys\nsys.argv[0] = %s\nfor _dir in [%s]:\n    site.addsitedir(_dir)\nfrom %s import %s\nsys.exit(%s())\n' \
                "$interpreter" "'$script'" "$dirs" "$module" "$function" "$function" > "$out/bin/.$script-wrapped"
              printf '#!%s\nexport PYTHONNOUSERSITE=true\nexec -a "$0" "%s" "$@"\n' "$bash" "$out/bin/.$script-wrapped" > "$out/bin/$script"
              chmod +x "$out/bin/$script" "$out/bin/.$script-wrapped"
              i=$((i + 1))
            done
          '';
          propagate = [ python ] ++ dependencies;
          passthru = { requiredPythonModules = required; }
            // lib.optionalAttrs (!application) { pythonModule = python; };
          meta = { platforms = [ system ]; isBuildPythonPackage = [ system ]; } // meta;
        };
      buildPythonPackage = args: buildPython args;
      buildPythonApplication = args: buildPython (args // { application = true; });

      # python-packages-base.nix: an application is the module with
      # pythonModule = false (passthru only, so the same store path).
      toPythonApplication = drv: drv // {
        name = "${drv.pname}-${drv.version}";
        pythonModule = false;
      };

      pyModule = pname: version: text: buildPythonPackage {
        inherit pname version;
        files."${replaceStrings [ "-" ] [ "_" ] pname}.py" = text;
        meta.description = descriptions.${pname} or "";
      };

      cudaSupport = config.cudaSupport or false;
      cudaCapabilities = config.cudaCapabilities or [ ];
      rocmSupport = config.rocmSupport or false;

      pythonPackages = {
        inherit python buildPythonPackage buildPythonApplication toPythonApplication;
        six = pyModule "six" "1.16.0" "__version__ = '1.16.0'\nPY3 = True\n";
        numpy = pyModule "numpy" "1.26.4" "__version__ = '1.26.4'\n";
        attrs = pyModule "attrs" "23.2.0" "__version__ = '23.2.0'\n";
        setuptools = pyModule "setuptools" "69.5.1" "__version__ = '69.5.1'\n";
        mutagen = pyModule "mutagen" "1.47.0" "version_string = '1.47.0'\n";
        # pip links the host's pip into the set, as python.pkgs.pip does.
        pip = mkDerivation {
          pname = "pip";
          version = "host";
          name = "python${pythonVersion}-pip";
          env = { inherit sitePackages; pip = host.pip; };
          script = ''
            set -eu
            mkdir -p "$out/$sitePackages"
            ln -s "$pip" "$out/$sitePackages/pip"
            # pip's dist-info sits beside the package. (Each folder once: linking
            # a folder twice would follow the first link into the host's folder.)
            for d in "$(dirname "$pip")"/pip-*.dist-info; do
              if [ -e "$d" ]; then ln -s "$d" "$out/$sitePackages/$(basename "$d")"; fi
            done
          '';
          propagate = [ python ];
          passthru = { pythonModule = python; requiredPythonModules = [ ]; };
        };
        # torch follows config.cudaSupport / cudaCapabilities / rocmSupport, as
        # nixpkgs' does; with CUDA it needs the unfree CUDA runtime.
        torch = buildPythonPackage {
          pname = "torch";
          version = "2.5.1";
          files."torch.py" = ''
            __version__ = '2.5.1'
            CUDA = ${if cudaSupport then "True" else "False"}
            CUDA_CAPABILITIES = ${builtins.toJSON cudaCapabilities}
            ROCM = ${if rocmSupport then "True" else "False"}
          '';
          dependencies = [ pythonPackages.numpy ] ++ lib.optional cudaSupport cudaPackages.cuda_cudart;
          meta.description = descriptions.torch;
        };
        # The module twins of the applications below.
        yt-dlp = buildPythonPackage (ytDlp pythonPackages);
        openai-whisper = buildPythonPackage {
          pname = "openai-whisper";
          version = "20240930";
          files."whisper.py" = ''
            __version__ = '20240930'
            def main():
                import sys, torch
                print("whisper", __version__, "torch", torch.__version__, " ".join(sys.argv[1:]))
          '';
          dependencies = [ pythonPackages.torch ];
          scripts.whisper = "whisper:main";
          meta.description = descriptions.openai-whisper;
        };
        # pkgs/development/python-modules/../python-aliases.nix
        pytorch = throw "'pytorch' has been renamed to/replaced by 'torch'";
      };
    in
    python;

  # yt-dlp's definition, shared by the application and its module twins.
  ytDlp = ps: {
    pname = "yt-dlp";
    version = "2025.1.12";
    files."yt_dlp.py" = ''
      __version__ = '2025.1.12'
      def main():
          import mutagen
          print("yt-dlp", __version__, "mutagen", mutagen.version_string)
    '';
    dependencies = [ ps.mutagen ];
    scripts.yt-dlp = "yt_dlp:main";
    meta.description = descriptions.yt-dlp;
  };

  # The default python3 and a second interpreter (the host's other Python
  # when the harness found one, else a second derivation of the same).
  python3 = mkPython { binary = host.python; inherit (host) pythonVersion; };
  python312 = mkPython {
    binary = host.pythonAlt or host.python;
    pythonVersion = host.pythonAltVersion or host.pythonVersion;
  };

  cudaPackages = {
    cuda_cudart = mkDerivation {
      pname = "cuda_cudart";
      version = "12.4.127";
      script = ''
        set -eu
        mkdir -p "$out/lib"
      '';
      meta.license = { free = false; shortName = "CUDA EULA"; };
    };
  };

  # stdenv's setup as `nix print-dev-env` sources it: every input and what
  # it propagates, in order; their setup hooks; their bin/ on PATH (appended,
  # so the first input comes first); and the env hooks those setup hooks
  # registered, run for each input. Bash builtins only. It also sets the EXIT
  # trap of holdLogUntilExit for that build.
  stdenvSetup = runScript "stdenv-standin" { inherit holdLogUntilExit; } ''
    set -eu
    mkdir -p "$out"
    printf '%s\n' "$holdLogUntilExit" > "$out/setup"
    cat >> "$out/setup" <<'SETUP'
    hostOffset=0
    envHooks=()
    addEnvHooks() { shift; envHooks+=("$@"); }
    addToSearchPathWithCustomDelimiter() {
      local delimiter="$1" varName="$2" dir="$3"
      if [[ -d "$dir" && "$delimiter''${!varName-}$delimiter" != *"$delimiter$dir$delimiter"* ]]; then
        export "$varName=''${!varName:+''${!varName}$delimiter}$dir"
      fi
    }
    addToSearchPath() { addToSearchPathWithCustomDelimiter : "$@"; }
    inputsInOrder=()
    findInputs() {
      local pkg="$1" seen propagated
      for seen in ''${inputsInOrder[@]+"''${inputsInOrder[@]}"}; do
        if [[ "$seen" == "$pkg" ]]; then return 0; fi
      done
      inputsInOrder+=("$pkg")
      if [[ -f "$pkg/nix-support/propagated-build-inputs" ]]; then
        for propagated in $(< "$pkg/nix-support/propagated-build-inputs"); do findInputs "$propagated"; done
      fi
    }
    for pkg in ''${nativeBuildInputs-} ''${buildInputs-}; do findInputs "$pkg"; done
    for pkg in ''${inputsInOrder[@]+"''${inputsInOrder[@]}"}; do
      if [[ -f "$pkg/nix-support/setup-hook" ]]; then source "$pkg/nix-support/setup-hook"; fi
    done
    _PATH=
    for pkg in ''${inputsInOrder[@]+"''${inputsInOrder[@]}"}; do
      addToSearchPath _PATH "$pkg/bin"
      for hook in ''${envHooks[@]+"''${envHooks[@]}"}; do "$hook" "$pkg"; done
    done
    PATH="$_PATH''${_PATH:+''${PATH:+:}}''${PATH-}"
    export PATH
    unset _PATH
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

  removedNodePackages = "nodePackages has been removed. Many packages are now available at the top level (e.g. `pkgs.package-name`). Check on https://search.nixos.org to see if the package is still available.";

  base = final: {
    inherit lib config mkShell python3 python312 cudaPackages;
    python311 = python3;
    python3Packages = python3.pkgs;
    python311Packages = python3.pkgs;
    python312Packages = python312.pkgs;

    ffmpeg = tool "ffmpeg" "6.1.1";
    tesseract = tool "tesseract" "5.3.4";
    sox = tool "sox" "14.4.2";
    hello = tool "hello" "2.12.1";
    jq = tool "jq" "1.7.1";
    pnpm = tool "pnpm" "9.15.0";
    gifski = tool "gifski" "1.32.0";
    exiftool = tool "exiftool" "12.76";
    libavif = tool' "avifenc" "libavif" "1.1.1" { };
    ffmpegthumbnailer = tool "ffmpegthumbnailer" "2.2.3";
    mediainfo = tool "mediainfo" "24.06";
    llvmPackages = { clang = tool "clang" "19.1.7"; };

    # Python applications, built for the default python3 as in nixpkgs:
    # yt-dlp with buildPythonApplication (pkgs/by-name/yt/yt-dlp), whisper
    # with toPythonApplication (all-packages.nix).
    yt-dlp = python3.pkgs.buildPythonApplication (ytDlp python3.pkgs);
    openai-whisper = python3.pkgs.toPythonApplication python3.pkgs.openai-whisper;

    # check-meta refusals, one of each kind.
    unrar = tool' "unrar" "unrar" "7.0.9" { meta.license = { free = false; shortName = "unfreeRedistributable"; }; };
    oldtool = tool' "oldtool" "oldtool" "0.9" { meta.broken = true; };
    darwintool = tool' "darwintool" "darwintool" "1.0" { meta.platforms = [ "aarch64-darwin" "x86_64-darwin" ]; };
    openssl_1_1 = tool' "openssl" "openssl" "1.1.1w" {
      meta.knownVulnerabilities = [ "OpenSSL 1.1 reached its end of life on 2023/09/11." ];
    };

    # pkgs/top-level/aliases.nix: removed names throw, a leaf and a whole set.
    atom = throw "'atom' has been removed because discontinued and deprecated. Consider using 'pulsar', a maintained fork";
    nodePackages = throw removedNodePackages;
    nodePackages_latest = throw removedNodePackages;

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

    # A package whose build fails, for the tests of build-failure reporting.
    broken = runScript "broken-1.0" { } ''
      echo "compiling broken-1.0 ..." >&2
      echo "broken.c:3: error: this package fails on purpose" >&2
      exit 1
    '';
  };
in
lib.fix (builtins.foldl' (f: overlay: lib.extends overlay f) base overlays)
