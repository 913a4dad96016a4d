# nixpy's shell template: a function from the pinned nixpkgs source and the
# project's plan (JSON data that nixpy wrote, never code) to the nixpkgs
# package set the project sees and the shell built from it.
#
# It touches only the nixpkgs API listed in shells/README.md, so it works
# against real nixpkgs and against the test suite's offline stand-in alike.
#
# Failures reach nixpy as markers (a word and one line of JSON) that it turns
# into one clear error: `nixpy-names:` (names that are missing or removed),
# `nixpy-refused:` (check-meta refusing a package), `nixpy-listed:` (which
# listed package was being evaluated, as error context), `nixpy-module:` and
# `nixpy-nix-file-shape:` (a nix-file nixpy cannot read), `nixpy-not-python:`
# (`python` names something that is not an interpreter).
{ nixpkgs, system, plan }:
let
  inherit (builtins) addErrorContext tryEval toJSON isAttrs isList isFunction
    isString isPath concatMap filter head length seq elemAt genList;

  # --- nixpkgs, instantiated with the project's config and nothing else ----
  # An explicit config and overlay list: ~/.config/nixpkgs, NIXPKGS_CONFIG and
  # the user's overlays are not read. NIXPKGS_ALLOW_* still are (check-meta
  # reads them itself); nixpy fingerprints them.
  settings = plan.nixpkgsConfig or { };
  allowUnfree = settings.allowUnfree or false;
  config =
    {
      # check-meta calls this instead of throwing its own message, so the
      # refusal reaches nixpy with its reason, and with what nixpy needs to
      # say which key allows it.
      handleEvalIssue = reason: message: throw ("nixpy-refused: " + toJSON {
        inherit reason;
        manifest = plan.manifest;
        cudaSupport = settings.cudaSupport or false;
      } + "\n" + message);
    }
    // (if isList allowUnfree then {
      # lib.getName's rule, written out: `lib` comes from the package set
      # this config makes.
      allowUnfreePredicate = package:
        builtins.elem (package.pname or (builtins.parseDrvName package.name).name) allowUnfree;
    } else if settings ? allowUnfree then { inherit allowUnfree; } else { })
    // builtins.intersectAttrs {
      allowBroken = null;
      allowUnsupportedSystem = null;
      permittedInsecurePackages = null;
      cudaSupport = null;
      cudaCapabilities = null;
      rocmSupport = null;
    } settings;
  pkgs = import nixpkgs { inherit system config; overlays = [ ]; };
  lib = pkgs.lib;

  # --- names from the manifest ---------------------------------------------
  # Each attribute path is followed one step at a time with tryEval, so a
  # name nixpkgs removed (a `throw` in aliases.nix, on the leaf or on a set
  # above it) is told apart from one that never existed.
  lookup = set: path:
    builtins.foldl'
      (found: name:
        if found.status != "ok" then found
        else if !(isAttrs found.value) || !(found.value ? ${name}) then found // { status = "unknown"; }
        else
          let step = tryEval found.value.${name}; in
          if step.success then found // { value = step.value; depth = found.depth + 1; }
          else found // { status = "removed"; depth = found.depth + 1; })
      { status = "ok"; value = set; depth = 0; }
      path;

  resolve = list: setName: set: path:
    let found = lookup set path; in {
      inherit list path found;
      attr = lib.concatStringsSep "." path;
      set = setName;
      source = plan.manifest;
    };

  pythonEntry = resolve "python" "nixpkgs" pkgs plan.python;
  # `python` must name an interpreter: `python = "hello"` would otherwise
  # fail deep inside withPackages, or at the first fact read from it.
  foundPython = pythonEntry.found.value;
  isInterpreter =
    let test = tryEval (isAttrs foundPython && foundPython ? withPackages && foundPython ? pythonVersion);
    in test.success && test.value;
  python =
    if pythonEntry.found.status != "ok" || isInterpreter then foundPython
    else throw ("nixpy-not-python: " + toJSON { inherit (pythonEntry) attr source; });
  pythonSetName = "${lib.concatStringsSep "." plan.python}.pkgs";
  pythonPackageEntries =
    if pythonEntry.found.status == "ok"
    then map (resolve "python-packages" pythonSetName python.pkgs) plan.pythonPackages
    else [ ];
  packageEntries = map (resolve "packages" "nixpkgs" pkgs) plan.packages;
  libraryEntries = map (resolve "libraries" "nixpkgs" pkgs) plan.libraries;

  problems = filter (e: e.found.status != "ok")
    ([ pythonEntry ] ++ pythonPackageEntries ++ packageEntries ++ libraryEntries);
  removed = filter (e: e.found.status == "removed") problems;
  # Every missing or removed name at once (the first hundred: a list that
  # long is a mistake of its own).
  namesMarker = "nixpy-names: " + toJSON {
    total = length problems;
    problems = map
      (e: {
        inherit (e) attr list set source;
        status = e.found.status;
        # The part of the path that throws (`nodePackages` for `nodePackages.pnpm`).
        at = lib.concatStringsSep "." (lib.sublist 0 e.found.depth e.path);
      })
      (lib.sublist 0 100 problems);
    # Whose removal text is the error message: the first removed name's.
    quoted = if removed == [ ] then null else (head removed).attr;
  };
  checkNames = value:
    if problems == [ ] then value
    else if removed != [ ] then
      let first = head removed; in
      # Forcing the removed name again raises nixpkgs' own text, with the
      # marker as context (`--show-trace` prints it).
      addErrorContext namesMarker
        (seq (lib.getAttrFromPath first.path (if first.list == "python-packages" then python.pkgs else pkgs))
          (throw namesMarker))
    else throw namesMarker;

  # A listed package, forced (drvPath) under a context that says where it
  # was listed, so a refusal or a failure deep inside it names the entry.
  listed = entry: package:
    addErrorContext ("nixpy-listed: " + toJSON entry)
      (if isAttrs package && package ? drvPath then seq package.drvPath package else package);
  packageName = package:
    let name = tryEval (package.pname or package.name or null);
    in if name.success && isString name.value then name.value else null;

  # --- nix-files: lists, functions and home-manager/NixOS-style modules ----
  label = path:
    let
      text = toString path;
      root = plan.root + "/";
      n = builtins.stringLength root;
    in
    if builtins.substring 0 n text == root then builtins.substring n (builtins.stringLength text - n) text else text;

  moduleArgs = {
    inherit pkgs lib;
    config = { };
    options = { };
    osConfig = { };
    nixosConfig = { };
    inputs = { };
    specialArgs = { };
    modulesPath = "";
  };

  # A file's value: imported with `pkgs` and `lib` in scope (so a header-less
  # `{ home.packages = with pkgs; [ ... ]; }` works), then called when it is a
  # function: a module gets the arguments it names, a bare `pkgs: [ ... ]` gets pkgs.
  evaluateModule = file: raw:
    let
      imported = if isPath raw || isString raw then builtins.scopedImport { inherit pkgs lib; } raw else raw;
      formals = builtins.functionArgs imported;
      called =
        if !(isFunction imported) then imported
        else if formals == { } then imported pkgs
        else imported (builtins.intersectAttrs formals moduleArgs);
    in
    addErrorContext ("nixpy-module: " + toJSON { inherit file; }) called;

  shapeError = file: reason: throw ("nixpy-nix-file-shape: " + toJSON { inherit file reason; });

  fileItem = path: {
    key = toString path;
    file = label path;
    value = evaluateModule (label path) path;
  };
  importsOf = item:
    let
      v = item.value;
      imports = if isAttrs v && !(v ? _type) then v.imports or [ ] else [ ];
    in
    if !(isList imports) then shapeError item.file "`imports` is not a list"
    else genList
      (i:
        let entry = elemAt imports i; in
        if isPath entry || isString entry then fileItem entry
        else {
          key = "${item.key}#${toString i}";
          inherit (item) file;
          value = evaluateModule item.file entry;
        })
      (length imports);
  closureOf = roots: builtins.genericClosure { startSet = roots; operator = importsOf; };

  # The options whose definitions are packages; `packages` is nixpy's own
  # shorthand (`{ packages = [ ... ]; }`), a bare list counts as one too.
  packageOptions = [ [ "home" "packages" ] [ "environment" "systemPackages" ] [ "packages" ] ];

  # The definitions a module body gives for `path`, with mkIf, mkMerge,
  # mkOverride (mkDefault, mkForce) and mkOrder (mkBefore, mkAfter) applied
  # as lib/modules.nix does: the outermost priority and order win.
  definitionsAt = file: path: priority: order: value:
    let kind = if isAttrs value then value._type or null else null; in
    if kind == "if" then
      (if value.condition then definitionsAt file path priority order value.content else [ ])
    else if kind == "merge" then concatMap (definitionsAt file path priority order) value.contents
    else if kind == "override" then
      definitionsAt file path (if priority == null then value.priority else priority) order value.content
    else if kind == "order" then
      definitionsAt file path priority (if order == null then value.priority else order) value.content
    else if path == [ ] then [{
      inherit file value;
      priority = if priority == null then 100 else priority;
      order = if order == null then 1000 else order;
    }]
    else if isAttrs value then
      (if value ? ${head path} then definitionsAt file (builtins.tail path) priority order value.${head path} else [ ])
    else shapeError file "`${lib.concatStringsSep "." path}` sits inside something that is not an attribute set";

  # Whether a module body mentions `path` at all (conditions not evaluated).
  mentions = path: value:
    let kind = if isAttrs value then value._type or null else null; in
    if kind == "if" || kind == "override" || kind == "order" then mentions path value.content
    else if kind == "merge" then builtins.any (mentions path) value.contents
    else if path == [ ] then true
    else isAttrs value && value ? ${head path} && mentions (builtins.tail path) value.${head path};

  moduleBody = item:
    let v = item.value; in
    if isList v then { packages = v; }
    else if !(isAttrs v) then shapeError item.file "it gives neither a list of packages nor a module (but a ${builtins.typeOf v})"
    else if v ? _type then v
    else if v ? config || v ? options then v.config or { }
    else removeAttrs v [ "imports" "options" "_file" "key" "disabledModules" "meta" "freeformType" ];

  itemDefinitions = path: item:
    addErrorContext ("nixpy-module: " + toJSON { inherit (item) file; })
      (let defs = definitionsAt item.file path null null (moduleBody item); in seq (length defs) defs);

  # Each nix-files entry must lead to package definitions somewhere in its
  # imports; one that gives none is reported, never dropped.
  checkedRoot = path:
    let
      closure = closureOf [ (fileItem path) ];
      givesPackages = builtins.any (item: builtins.any (p: mentions p (moduleBody item)) packageOptions) closure;
    in
    if givesPackages then closure
    else shapeError (label path) "it sets neither home.packages nor environment.systemPackages (in it or in its imports)";

  moduleItems =
    let roots = map (path: /. + path) plan.nixFiles; in
    seq (builtins.deepSeq (map (r: length (checkedRoot r)) roots) null)
      (closureOf (map fileItem roots));

  # One option's merged value, as the module system merges a list option:
  # the definitions of the highest priority, sorted by order, concatenated.
  mergeOption = path:
    let
      definitions = concatMap (itemDefinitions path) moduleItems;
      best = builtins.foldl' (m: d: if d.priority < m then d.priority else m) 9999 definitions;
      kept = builtins.sort (a: b: a.order < b.order) (filter (d: d.priority == best) definitions);
      asList = d:
        # (A null is dropped; an entry that throws is kept, to be raised
        # under its own context.)
        if isList d.value then filter (p: let forced = tryEval p; in !(forced.success && forced.value == null)) d.value
        else shapeError d.file "`${lib.concatStringsSep "." path}` is a ${builtins.typeOf d.value}, not a list";
    in
    concatMap (d: map (package: { source = d.file; inherit package; }) (asList d)) kept;
  nixFilePackages = concatMap mergeOption packageOptions;

  # --- everything listed, and the Python modules it implies ----------------
  listedPackages =
    map (e: { entry = { inherit (e) attr list source; }; package = e.found.value; }) packageEntries
    ++ map
      (p: { entry = { attr = null; name = packageName p.package; list = "nix-files"; inherit (p) source; }; inherit (p) package; })
      nixFilePackages;

  # A listed Python package the project's interpreter should import too:
  # a module of that interpreter as it is; an application (pythonModule =
  # false, or built by buildPythonApplication, which sets no pythonModule)
  # or a module of another interpreter through its twin of the same pname
  # in the interpreter's package set.
  # (Comparing derivations forces their outPath, so a refusal there is
  # caught here and raised later, under the entry's own context.)
  moduleOf = item:
    let
      package = item.package;
      evaluates = (tryEval (isAttrs package)).value or false;
      builtWithPython = package ? pythonModule || (package.meta.isBuildPythonPackage or null) != null;
      ownModule = package.pythonModule or null;
      isProjectPython = drv: (tryEval (drv == python)).value or false;
      pname = package.pname or null;
      twin =
        if pname != null && python.pkgs ? ${pname}
        then tryEval python.pkgs.${pname}
        else { success = false; };
      twinUsable = twin.success && isAttrs twin.value && isProjectPython (twin.value.pythonModule or null);
    in
    if !evaluates || !builtWithPython then null
    else if isAttrs ownModule && isProjectPython ownModule then { module = package; twin = false; }
    else if twinUsable then { module = twin.value; twin = true; }
    else null;
  appModules =
    if !(plan.appModules or true) then [ ]
    else filter (m: m.found != null) (map (item: item // { found = moduleOf item; }) listedPackages);

  checkedPython = listed { attr = pythonEntry.attr; list = "python"; source = plan.manifest; } python;
  pythonEnv = seq checkedPython (python.withPackages (ps:
    map (e: listed { inherit (e) attr list source; } e.found.value) pythonPackageEntries
    ++ map
      (m: listed (m.entry // { module = m.found.module.pname or null; }) m.found.module)
      appModules
    ++ lib.optional plan.pip ps.pip));

  # Interpreters of another Python version listed beside the project's own
  # (the lesson's modules/python.nix lists python312): nixpy says which one
  # the project's `python` is, instead of leaving the user to guess.
  otherInterpreters = filter
    (item:
      let
        p = item.package;
        other = tryEval (isAttrs p && p ? withPackages && p ? interpreter
          && p ? pythonVersion && p.pythonVersion != python.pythonVersion);
      in other.success && other.value)
    listedPackages;

  libraries = map (e: listed { inherit (e) attr list source; } e.found.value) libraryEntries;
  isDefaultPython =
    let same = tryEval (pkgs ? python3 && python.outPath == pkgs.python3.outPath);
    in same.success && same.value;

  # Name lookups for nixpy's commands (`nixpy add`, and the names a nix-file
  # mentions): for each attribute path in nixpkgs ("nixpkgs") or in the
  # interpreter's package set ("python"), its status ("ok", "unknown" or
  # "removed"), how many of its steps exist, and, when it is not usable, the
  # names beside the last one that does.
  names = setName: paths:
    let set = if setName == "python" then python.pkgs else pkgs; in
    map
      (path:
        let found = lookup set path; in
        { inherit (found) status depth; }
        // (if found.status == "ok" then { } else {
          siblings = if isAttrs found.value then builtins.attrNames found.value else [ ];
        }))
      paths;
in
{
  inherit pkgs names;
  shell = checkNames (pkgs.mkShell {
    name = "nixpy-shell";
    packages =
      [ pythonEnv ]
      ++ map (item: listed item.entry item.package) listedPackages
      ++ lib.optional plan.uv pkgs.uv;
    # Python's setup hook would put every input's site-packages on
    # PYTHONPATH (devenv turns it off the same way); the interpreter gets its
    # modules through withPackages instead.
    dontAddPythonPath = true;

    # Facts nixpy needs after the build, read back from `print-dev-env`.
    NIXPY_PYTHON = "${pythonEnv}/bin/python3";
    NIXPY_BASE_PYTHON = python.interpreter;
    NIXPY_PYTHON_VERSION = python.pythonVersion;
    NIXPY_SITE_PACKAGES = "${pythonEnv}/${python.sitePackages}";
    NIXPY_LIBRARY_PATH = lib.makeLibraryPath libraries;
    NIXPY_BASH = "${pkgs.bashInteractive}/bin/bash";
    NIXPY_UV = lib.optionalString plan.uv "${pkgs.uv}/bin/uv";
    NIXPY_APP_MODULES = toJSON {
      defaultPython = isDefaultPython;
      modules = map
        (m: {
          package = if m.entry.attr != null then m.entry.attr else m.entry.name;
          inherit (m.entry) source;
          module = m.found.module.pname or null;
          inherit (m.found) twin;
        })
        appModules;
      otherInterpreters = map
        (i: {
          package = if i.entry.attr != null then i.entry.attr else i.package.name;
          inherit (i.entry) source;
          version = i.package.pythonVersion;
        })
        otherInterpreters;
    };
  });
}
