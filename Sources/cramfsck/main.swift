import CramfsCommands

CramfsCommand.main()  // replaced by the cramfsck front-end
