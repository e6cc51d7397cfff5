package main

import (
	"context"
	"fmt"
	"io"

	"github.com/shelf-kv/shelf/client"
	"github.com/spf13/pflag"
)

// alarmCommands are alarm list|disarm (etcdctl's alarm_command.go).
func alarmCommands() []*command {
	return []*command{
		{name: "alarm list", short: "Lists all alarms", setup: setupAlarmList},
		{name: "alarm disarm", short: "Disarms all alarms", setup: setupAlarmDisarm},
	}
}

// jAlarms is AlarmResponse; alarm types are numbers (NOSPACE = 1), as
// encoding/json writes etcd's enum.
type jAlarms struct {
	Header *jHeader        `json:"header,omitempty"`
	Alarms []*jAlarmMember `json:"alarms,omitempty"`
}

type jAlarmMember struct {
	MemberID uint64 `json:"memberID,omitempty"`
	Alarm    int32  `json:"alarm,omitempty"`
}

// printAlarms writes the alarms as etcdctl does (gogoproto's compact
// text: "memberID:<id> alarm:NOSPACE ", trailing space included), or JSON.
func (a *app) printAlarms(h client.Header, alarms []client.AlarmMember) error {
	if a.g.writeOut == outJSON {
		out := jAlarms{Header: hdrOrNil(h)}
		for _, m := range alarms {
			out.Alarms = append(out.Alarms, &jAlarmMember{MemberID: m.MemberID, Alarm: int32(m.Alarm)})
		}
		return a.printJSON(out)
	}
	printAlarmLines(a.stdout, alarms)
	return nil
}

func printAlarmLines(w io.Writer, alarms []client.AlarmMember) {
	for _, m := range alarms {
		fmt.Fprintf(w, "memberID:%d alarm:%s \n", m.MemberID, m.Alarm)
	}
}

func setupAlarmList(fs *pflag.FlagSet) func(*app, []string) error {
	return func(a *app, args []string) error {
		if len(args) != 0 {
			return badArgs("alarm list command accepts no arguments")
		}
		if a.g.writeOut == outTable {
			return noTable()
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.ctx()
		defer cancel()
		resp, err := c.AlarmList(ctx)
		if err != nil {
			return err
		}
		return a.printAlarms(resp.Header, resp.Alarms)
	}
}

// setupAlarmDisarm disarms every active alarm, one by one, and prints
// those disarmed (clientv3's AlarmDisarm with an empty member does the
// same; its answer carries no header).
func setupAlarmDisarm(fs *pflag.FlagSet) func(*app, []string) error {
	return func(a *app, args []string) error {
		if len(args) != 0 {
			return badArgs("alarm disarm command accepts no arguments")
		}
		if a.g.writeOut == outTable {
			return noTable()
		}
		c, err := a.client()
		if err != nil {
			return err
		}
		ctx, cancel := a.ctx()
		defer cancel()
		list, err := c.AlarmList(ctx)
		if err != nil {
			return err
		}
		var disarmed []client.AlarmMember
		for _, m := range list.Alarms {
			resp, err := c.AlarmDisarm(ctx, m)
			if err != nil {
				return err
			}
			disarmed = append(disarmed, resp.Alarms...)
		}
		return a.printAlarms(client.Header{}, disarmed)
	}
}

// alarmHealth is the second half of etcdctl's health check: "" when the
// cluster has no active alarm, else why the endpoint is unhealthy.
func (a *app) alarmHealth(ctx context.Context, c *client.Client) string {
	resp, err := c.AlarmList(ctx)
	if err != nil {
		return "Unable to fetch the alarm list"
	}
	if len(resp.Alarms) == 0 {
		return ""
	}
	msg := "Active Alarm(s): "
	for _, m := range resp.Alarms {
		msg += m.Alarm.String() + " "
	}
	return msg
}
