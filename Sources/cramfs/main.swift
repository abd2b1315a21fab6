import CramfsCommands

CramfsCommand.main()
