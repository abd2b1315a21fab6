import CramfsCommands

CramfsckCommand.main()
