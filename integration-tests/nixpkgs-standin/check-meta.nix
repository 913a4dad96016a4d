# The stand-in's pkgs/stdenv/generic/check-meta.nix: whether a package may
# be evaluated, going by its meta (license, broken, platforms, known
# vulnerabilities), the nixpkgs config and the NIXPKGS_ALLOW_* variables.
#
# As in nixpkgs, a refusal is raised only when the package's drvPath or
# outPath is forced (so `meta`, `pname` and `meta.available` stay readable),
# through `config.handleEvalIssue reason message` when the config has one and
# `throw message` otherwise. The message follows nixpkgs' current wording
# ("Refusing to evaluate package 'NAME' in POSITION because it ...").
{ config, system }:
let
  inherit (builtins) elem getEnv isList any;

  allowedByEnvironment = name: getEnv name == "1";
  allowUnfree = config.allowUnfree or false || allowedByEnvironment "NIXPKGS_ALLOW_UNFREE";
  allowBroken = config.allowBroken or false || allowedByEnvironment "NIXPKGS_ALLOW_BROKEN";
  allowUnsupportedSystem = config.allowUnsupportedSystem or false
    || allowedByEnvironment "NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM";
  allowInsecure = allowedByEnvironment "NIXPKGS_ALLOW_INSECURE";

  nameWithVersion = attrs: attrs.name or "${attrs.pname}-${attrs.version}";
  predicate = name: config.${name} or (_: false);

  isUnfree = license:
    if isList license then any (l: !(l.free or true)) license else !(license.free or true);
  licenseNames = license:
    builtins.concatStringsSep " " (map (l: l.shortName or "unknown") (if isList license then license else [ license ]));

  deniedUnfree = attrs:
    attrs ? meta.license && isUnfree attrs.meta.license
    && !allowUnfree && !(predicate "allowUnfreePredicate" attrs);
  deniedBroken = attrs:
    (attrs.meta.broken or false) && !allowBroken && !(predicate "allowBrokenPredicate" attrs);
  unsupported = attrs:
    !allowUnsupportedSystem
    && ((attrs ? meta.platforms && !elem system attrs.meta.platforms)
      || elem system (attrs.meta.badPlatforms or [ ]));
  insecurePermitted = attrs:
    if config ? allowInsecurePredicate then config.allowInsecurePredicate attrs
    else elem (nameWithVersion attrs) (config.permittedInsecurePackages or [ ]);
  deniedInsecure = attrs:
    (attrs.meta.knownVulnerabilities or [ ]) != [ ] && !allowInsecure && !(insecurePermitted attrs);

  allowFor = what: variable: attribute: ''
    a) To allow ${what} for one invocation of the nix tools, set
         $ export ${variable}=1
       (with a flake, pass --impure so the variable is read).
    b) Or set { ${attribute} = true; } in your nixpkgs config.
  '';

  problem = attrs:
    if deniedUnfree attrs then {
      reason = "unfree";
      msg = "has an unfree license (‘${licenseNames attrs.meta.license}’)";
      remediation = allowFor "unfree packages" "NIXPKGS_ALLOW_UNFREE" "allowUnfree";
    } else if deniedBroken attrs then {
      reason = "broken";
      msg = "is marked as broken";
      remediation = allowFor "broken packages" "NIXPKGS_ALLOW_BROKEN" "allowBroken";
    } else if unsupported attrs then {
      reason = "unsupported";
      msg = "is not available on the requested hostPlatform:\n  hostPlatform.system = \"${system}\"\n  package.meta.platforms = [ ${builtins.concatStringsSep " " (attrs.meta.platforms or [ ])} ]";
      remediation = allowFor "packages that are unsupported for this system" "NIXPKGS_ALLOW_UNSUPPORTED_SYSTEM" "allowUnsupportedSystem";
    } else if deniedInsecure attrs then {
      reason = "insecure";
      msg = "is marked as insecure";
      remediation = "\nKnown issues:\n" + builtins.concatStringsSep "" (map (i: " - ${i}\n") attrs.meta.knownVulnerabilities)
        + "\nTo allow it, set NIXPKGS_ALLOW_INSECURE=1 for one invocation, or add\n‘${nameWithVersion attrs}’ to permittedInsecurePackages in your nixpkgs config.\n";
    } else null;

  handle = attrs: position: found:
    let
      message = "Refusing to evaluate package '${nameWithVersion attrs}' in ${position} because it ${found.msg}\n${found.remediation}";
    in
    if config ? handleEvalIssue then config.handleEvalIssue found.reason message else throw message;
in
{
  # True when the package may be evaluated; otherwise the refusal (which
  # throws, unless a handleEvalIssue returns true).
  validity = attrs: position:
    let found = problem attrs; in if found == null then true else handle attrs position found;
  available = attrs: problem attrs == null;
}
