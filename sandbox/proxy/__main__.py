from sandbox.proxy.server import main

main()
