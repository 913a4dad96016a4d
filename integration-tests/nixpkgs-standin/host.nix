{
  system = "x86_64-linux";
  bash = "/bin/bash";
  coreutils = "/usr/bin:/bin";
  python = "/usr/bin/python3.11";
  pythonVersion = "3.11";
  uv = "/root/.pyenv/versions/3.11.7/bin/uv";
  pip = "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/pip";
  libstdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
  libz = "/usr/lib/x86_64-linux-gnu/libz.so.1";
}
