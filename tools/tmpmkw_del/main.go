package main
import ("fmt";"os";"github.com/swcli/swcli/sdk/testpy")
func main(){ p,err:=testpy.BuildWheel(os.Args[1], testpy.Wheel{Name:os.Args[2],Version:os.Args[3]}); fmt.Println(p,err)}
