# The slice of nixpkgs' `lib` that nixpy's shell template, the stand-in
# itself and the test suite's project modules use. Every function here has
# the name, the arguments and the semantics of the one in nixpkgs' lib/
# (lists.nix, attrsets.nix, strings.nix, trivial.nix, fixed-points.nix,
# modules.nix, customisation.nix), so a template that works here works there.
let
  inherit (builtins) head tail isAttrs isString parseDrvName;

  concatStringsSep = builtins.concatStringsSep;
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalString = cond: s: if cond then s else "";
  optionalAttrs = cond: set: if cond then set else { };

  hasAttrByPath = attrPath: e:
    if attrPath == [ ] then true
    else let a = head attrPath; in
      if isAttrs e && e ? ${a} then hasAttrByPath (tail attrPath) e.${a} else false;
  attrByPath = attrPath: default: e:
    if attrPath == [ ] then e
    else let a = head attrPath; in
      if isAttrs e && e ? ${a} then attrByPath (tail attrPath) default e.${a} else default;
  getAttrFromPath = attrPath: set:
    attrByPath attrPath (throw "cannot find attribute `${concatStringsSep "." attrPath}'") set;

  makeSearchPath = sub: paths:
    concatStringsSep ":" (map (p: "${p}/${sub}") (builtins.filter (p: p != null) paths));

  # lib.sublist: `count` elements from index `start`, fewer at the end.
  sublist = start: count: list:
    let len = builtins.length list; in
    builtins.genList (n: builtins.elemAt list (n + start))
      (if start >= len then 0 else if start + count > len then len - start else count);

  # lib.getName: a derivation's pname, else the name part of its name.
  getName = x:
    if isString x then (parseDrvName x).name
    else x.pname or (parseDrvName x.name).name;

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
  inherit concatStringsSep optional optionals optionalString optionalAttrs
    hasAttrByPath attrByPath getAttrFromPath makeSearchPath sublist getName fix extends
    mkIf mkMerge mkOverride mkOrder;
  makeBinPath = makeSearchPath "bin";
  makeLibraryPath = makeSearchPath "lib";
  foldl' = builtins.foldl';
  concatMap = builtins.concatMap;
  elem = builtins.elem;
  isDerivation = value: value.type or null == "derivation";
  mkOptionDefault = mkOverride 1500;
  mkDefault = mkOverride 1000;
  mkForce = mkOverride 50;
  mkBefore = mkOrder 500;
  mkAfter = mkOrder 1500;
}
