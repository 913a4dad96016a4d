# The lib functions nixpy's generated shell uses, with nixpkgs' semantics.
let
  concatStringsSep = builtins.concatStringsSep;
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];
  optionalString = cond: s: if cond then s else "";
  hasAttrByPath = attrPath: e:
    if attrPath == [ ] then true
    else let a = builtins.head attrPath; in
      if builtins.isAttrs e && e ? ${a} then hasAttrByPath (builtins.tail attrPath) e.${a} else false;
  attrByPath = attrPath: default: e:
    if attrPath == [ ] then e
    else let a = builtins.head attrPath; in
      if builtins.isAttrs e && e ? ${a} then attrByPath (builtins.tail attrPath) default e.${a} else default;
  getAttrFromPath = attrPath: set:
    attrByPath attrPath (throw "cannot find attribute `${concatStringsSep "." attrPath}'") set;
  makeSearchPath = sub: paths:
    concatStringsSep ":" (map (p: "${p}/${sub}") (builtins.filter (p: p != null) paths));
in
{
  inherit concatStringsSep optional optionals optionalString hasAttrByPath attrByPath getAttrFromPath makeSearchPath;
  makeBinPath = makeSearchPath "bin";
  makeLibraryPath = makeSearchPath "lib";
}
