"""The ways in, besides the command line (sandbox/cli): the Python API (`api`, exported as
`sandbox.episode`), the Gymnasium-style environment (`gym_env`), the pytest plugin
(`pytest_plugin`, entry point `sandbox`) and the control API over HTTP (`control`)."""
