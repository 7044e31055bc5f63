// Preloaded (node --import) into the ntss server only when run.sh --profile is
// used: SIGUSR2 makes the process exit normally, so that `node --cpu-prof`
// writes its .cpuprofile (a process killed by SIGTERM/SIGKILL writes nothing).
// It does not touch the server's own signal handling.
process.on('SIGUSR2', () => process.exit(0));
