import CramfsCommands

CramfsCommand.main()  // replaced by the mkcramfs front-end
