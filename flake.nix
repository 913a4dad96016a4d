{
  description = "nixpy: a Nix-aware Python dev-shell launcher";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        nixpy = pkgs.rustPlatform.buildRustPackage {
          pname = "nixpy";
          version = (builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version;
          src = pkgs.lib.cleanSourceWith {
            src = ./.;
            filter = path: type: !(builtins.elem (baseNameOf path) [ "target" ".ci" "bench" ]);
          };
          cargoLock.lockFile = ./Cargo.lock;
          # The integration tests need a Nix store and builders; they run in CI, not in the sandbox.
          cargoTestFlags = [ "--bins" ];
          nativeBuildInputs = [ pkgs.installShellFiles ];
          postInstall = ''
            installShellCompletion --cmd nixpy \
              --bash <($out/bin/nixpy completions bash) \
              --zsh <($out/bin/nixpy completions zsh) \
              --fish <($out/bin/nixpy completions fish)
          '';
          meta = {
            description = "Nix for system packages, uv/pip for the rest: one cached Python environment";
            mainProgram = "nixpy";
            license = with pkgs.lib.licenses; [ mit asl20 ];
          };
        };
        default = nixpy;
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [ cargo rustc rustfmt clippy rust-analyzer cargo-nextest python3 uv direnv hyperfine ];
        };
      });
    };
}
