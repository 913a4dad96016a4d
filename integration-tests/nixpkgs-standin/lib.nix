# The slice of nixpkgs' `lib` that nixpy's shell template, the stand-in
# itself and the test suite's project modules use. Every function here has
# the name, the arguments and the semantics of the one in nixpkgs' lib/
# (lists.nix, attrsets.nix, strings.nix, trivial.nix, fixed-points.nix,
# modules.nix), so a template that works here works there. Nothing else is
# here: a function the template starts to use is added with its real
# definition's behaviour, and to shells/README.md.
let
  inherit (builtins) elem filter head tail;

  concatStringsSep = builtins.concatStringsSep;
  optional = cond: x: if cond then [ x ] else [ ];
  optionalString = cond: s: if cond then s else "";
  optionalAttrs = cond: set: if cond then set else { };

  attrByPath = attrPath: default: e:
    if attrPath == [ ] then e
    else let a = head attrPath; in
      if e ? ${a} then attrByPath (tail attrPath) default e.${a} else default;
  # `abort`, as nixpkgs': a path that is not there cannot be caught with tryEval.
  getAttrFromPath = attrPath: set:
    attrByPath attrPath (abort ("cannot find attribute '" + concatStringsSep "." attrPath + "'")) set;

  # The output a search path takes from each package (`lib` for
  # makeLibraryPath), falling back to `out` and then the package.
  getOutput = output: pkg:
    if !(pkg ? outputSpecified) || !pkg.outputSpecified
    then pkg.${output} or pkg.out or pkg
    else pkg;
  makeSearchPath = subDir: paths:
    concatStringsSep ":" (map (path: path + "/" + subDir) (filter (x: x != null) paths));
  makeSearchPathOutput = output: subDir: pkgs: makeSearchPath subDir (map (getOutput output) pkgs);

  # lib.sublist: `count` elements from index `start`, fewer at the end.
  sublist = start: count: list:
    let len = builtins.length list; in
    builtins.genList (n: builtins.elemAt list (n + start))
      (if start >= len then 0 else if start + count > len then len - start else count);

  # lib.unique: the first of each element, in order.
  unique = builtins.foldl' (acc: e: if elem e acc then acc else acc ++ [ e ]) [ ];

  # lib.fix / lib.extends: the fixed point that overlays extend.
  fix = f: let x = f x; in x;
  extends = overlay: f: final: let prev = f final; in prev // overlay final prev;

  # lib/modules.nix: the properties a module definition may carry. The
  # representation (`_type` and its fields) is nixpkgs' own.
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  mkMerge = contents: { _type = "merge"; inherit contents; };
  mkOverride = priority: content: { _type = "override"; inherit priority content; };
  mkOrder = priority: content: { _type = "order"; inherit priority content; };
in
{
  inherit concatStringsSep optional optionalString optionalAttrs
    attrByPath getAttrFromPath getOutput makeSearchPath makeSearchPathOutput
    sublist unique fix extends mkIf mkMerge mkOverride mkOrder;
  makeLibraryPath = makeSearchPathOutput "lib" "lib";
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;
}
