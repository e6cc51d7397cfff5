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
		{name: "alarm list", short: "Lists all alarms", setup: alarmSetup("alarm list", listAlarms)},
		{name: "alarm disarm", short: "Disarms all alarms", setup: alarmSetup("alarm disarm", disarmAlarms)},
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

func jalarms(r *client.AlarmResponse) jAlarms {
	out := jAlarms{Header: hdrOrNil(r.Header)}
	for _, m := range r.Alarms {
		out.Alarms = append(out.Alarms, &jAlarmMember{MemberID: m.MemberID, Alarm: int32(m.Alarm)})
	}
	return out
}

// alarmSetup is the shape of alarm list and disarm: no arguments, one
// call, the alarms printed as etcdctl does (gogoproto's compact text:
// "memberID:<id> alarm:NOSPACE ", trailing space included), or JSON.
func alarmSetup(name string, do func(ctx context.Context, c *client.Client) (*client.AlarmResponse, error)) func(*pflag.FlagSet) runner {
	return func(*pflag.FlagSet) runner {
		return exactArgs(0, name+" command accepts no arguments", func(a *app, _ []string) error {
			return request(a, do, jalarms, func(r *client.AlarmResponse) error {
				printAlarmLines(a.stdout, r.Alarms)
				return nil
			})
		})
	}
}

func printAlarmLines(w io.Writer, alarms []client.AlarmMember) {
	for _, m := range alarms {
		fmt.Fprintf(w, "memberID:%d alarm:%s \n", m.MemberID, m.Alarm)
	}
}

func listAlarms(ctx context.Context, c *client.Client) (*client.AlarmResponse, error) {
	return c.AlarmList(ctx)
}

// disarmAlarms disarms every active alarm, one by one, and answers those
// disarmed (clientv3's AlarmDisarm with an empty member does the same;
// its answer carries no header).
func disarmAlarms(ctx context.Context, c *client.Client) (*client.AlarmResponse, error) {
	list, err := c.AlarmList(ctx)
	if err != nil {
		return nil, err
	}
	var disarmed []client.AlarmMember
	for _, m := range list.Alarms {
		resp, err := c.AlarmDisarm(ctx, m)
		if err != nil {
			return nil, err
		}
		disarmed = append(disarmed, resp.Alarms...)
	}
	return &client.AlarmResponse{Alarms: disarmed}, nil
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
